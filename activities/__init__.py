"""Activities: every side effect of an enrollment (DB, SendGrid), as thin Temporal wrappers over
plain service objects that tests can call directly."""
