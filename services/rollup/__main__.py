"""``python -m services.rollup``: run the rollup service."""

from services.rollup.bootstrap import RollupService
from services.rollup.settings import RollupSettings
from services.shared.main import serve

if __name__ == "__main__":
    settings = RollupSettings()
    serve(RollupService(settings), settings.http_port)
