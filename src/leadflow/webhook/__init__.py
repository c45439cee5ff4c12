"""Partner webhooks: tenant endpoints with event filters, Standard Webhooks signatures, persisted deliveries retried
on a schedule, a delivery log, manual redelivery and automatic disabling of endpoints that keep failing."""
