"""District → city data exchange (issue 19): the exchange schema, the sender and the exchange KPIs."""
