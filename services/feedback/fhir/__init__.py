"""FHIR R4 intake: QuestionnaireResponse for SRS, ORS and WAI-SR, errors as OperationOutcome."""
