from services.scoring.app import create_app
from services.scoring.settings import ScoringSettings
from shared.serve import serve

settings = ScoringSettings()
serve(lambda: create_app(settings), settings, settings.port)
