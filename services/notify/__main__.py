from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.serve import serve

settings = NotifySettings()
serve(lambda: create_app(settings), settings, settings.port)
