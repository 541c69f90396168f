"""Integrations: registry models served by engines teams already run (MLServer, KServe), behind optional extras."""
