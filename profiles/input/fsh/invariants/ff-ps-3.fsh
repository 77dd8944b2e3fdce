// On the parental-status extension: the patient cannot have been asked after the reporting date (ISO dates compare as text).
Invariant: ff-ps-3
Description: "The date the patient was asked (dateRecorded) must be on or before the reporting date (reportingPeriod.end)"
Severity: #error
Expression: "iif(extension.where(url = 'dateRecorded').value.toString() > extension.where(url = 'reportingPeriod').value.end.toString(), false, true)"
