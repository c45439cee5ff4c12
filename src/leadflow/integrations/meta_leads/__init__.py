"""Meta Lead Ads: ``leadgen`` page notifications, then the lead fetched by id from the Graph API (contracts §3.5)."""
