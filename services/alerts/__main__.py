"""``python -m services.alerts``: run the alerts service."""

from services.alerts.bootstrap import AlertsService
from services.alerts.settings import AlertsSettings
from services.shared.main import serve
from services.shared.metrics import process_registry

if __name__ == "__main__":
    settings = AlertsSettings()
    serve(AlertsService(settings, process_registry()), settings.http_port)
