"""``python -m services.status``: run the status service."""

from services.shared.main import serve
from services.shared.metrics import process_registry
from services.status.bootstrap import StatusService
from services.status.settings import StatusSettings

if __name__ == "__main__":
    settings = StatusSettings()
    serve(StatusService(settings, process_registry()), settings.http_port)
