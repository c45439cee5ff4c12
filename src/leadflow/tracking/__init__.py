"""The tracking script ``t.js``: served to any site, configured per tenant by its install snippet."""
