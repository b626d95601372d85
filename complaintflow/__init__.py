"""The application shell: the CLI, the composition root, the Prefect flows, the migrations, the
import inbox and schedules, the demo. It stands on the four packages below and nothing
imports it (docs/architecture.md).
"""
