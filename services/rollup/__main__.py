"""``python -m services.rollup``: run the rollup service."""

from services.rollup.bootstrap import RollupService
from services.rollup.settings import RollupSettings
from services.shared.main import serve
from services.shared.metrics import process_registry

if __name__ == "__main__":
    settings = RollupSettings()
    serve(RollupService(settings, process_registry()), settings.http_port)
