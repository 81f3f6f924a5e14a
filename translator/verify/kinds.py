"""The categories of a difference between the ruleset and the policies."""

MORE, LESS = "more-permissive", "less-permissive"
REPORTED = "reported"  # the less-permissive differences a reported approximation touches
CATEGORIES = (MORE, LESS, REPORTED)
