"""GitHub (DESIGN §13): credentials, pull requests, iterating on review comments, webhooks.

`client.GitHub` is the small protocol the rest of Forgeline uses; `client.GidgetGitHub`
implements it with `gidgethub` on `httpx2`. Nothing here runs at import.
"""
