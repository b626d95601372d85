"""The HTTP API over complaintflow's services (docs/api.md): FastAPI, run by `complaints serve`."""
