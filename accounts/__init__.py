"""Who is asking and what they may see: principals, region scope, tokens."""
