"""WhatsApp Cloud API: inbound webhooks (messages, statuses, Click-to-WhatsApp referrals) and sending."""
