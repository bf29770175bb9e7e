"""Services: the only code that changes data. They take the acting user, check the policy, validate, commit,
and only then fire hooks. They never touch the request."""
