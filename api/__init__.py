"""The HTTP face of nurture: webhooks, unsubscribe, the ops API, the dashboard, health."""
