"""Enrollment: starting a contact's workflow (`enrolling`), the send step (`sending`: consent at
send time, `quota`, `rendering`, the SendGrid transport), ops control of an enrollment
(`control`), and the enrollment's Temporal activities (`activities`)."""
