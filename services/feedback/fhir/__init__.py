"""FHIR R4: each instrument's Questionnaire out, its QuestionnaireResponse in, errors as OperationOutcome."""
