"""`onemap serve`: the web app (gunicorn with threads, or Flask's server with --dev)."""
from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=256, show_default=True, type=int,
              help="Threads per worker; every open live screen (SSE) holds one.")
@click.option("--dev", is_flag=True, help="Flask's development server (single process).")
def serve(host: str, port: int, workers: int, threads: int, dev: bool) -> None:
    """Serve the web app and API."""
    from config import load_settings
    from config.settings import MissingSecretError, check_secrets

    try:  # refuse to start before forking workers, naming the missing variable
        check_secrets(load_settings())
    except MissingSecretError as exc:
        raise click.ClickException(str(exc)) from None
    if dev:
        from dashboard import create_app

        create_app().run(host=host, port=port, threaded=True)
        return
    import sys

    import gunicorn.app.wsgiapp as wsgiapp

    # SSE holds a connection per screen: threads, not sync workers.
    sys.argv = ["gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads),
                "--worker-class", "gthread", "--timeout", "120", "--graceful-timeout", "10", "wsgi:app"]
    wsgiapp.run()
