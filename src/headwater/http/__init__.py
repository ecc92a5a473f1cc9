"""HTTP servers: ``server`` and ``connection``, the one ListenHTTP runs (asyncio and
httptools, no web framework on the way), and ``asgi``, the uvicorn server the hub's API,
the models service and the jobs service run on. Import the module you need."""
