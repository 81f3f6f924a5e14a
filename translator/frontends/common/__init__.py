"""What several frontends share: grammar terminals and lark errors, Cisco and ICMP tables, cloud values.

May import what frontends may (errors, limits, io, model).
"""
