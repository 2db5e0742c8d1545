from services.feedback.app import create_app
from services.feedback.settings import FeedbackSettings
from shared.serve import serve

# Guarded: the worker processes start by importing the main module again (multiprocessing's spawn).
if __name__ == "__main__":
    settings = FeedbackSettings()
    serve(create_app, settings, settings.port, workers=settings.workers)
