Extension: ThinkFamilyReferral
Id: think-family-referral
Title: "Think family referral"
Description: "Whether, in the reporting period, the service referred the child to, or notified, children's social care or early help (or why not), and the outcome of a referral or notification."
Context: RelatedPerson
* insert GuideMetadata
* obeys ff-tf-1
* extension contains
    action 1..1 and
    outcome 0..1 MS
* extension[action] ^short = "What the service did: referred, notified, already known, not needed, not known"
* extension[action].value[x] 1..1
* extension[action].value[x] only CodeableConcept
* extension[action].value[x] from ThinkFamilyActionValueSet (required)
* extension[outcome] ^short = "The outcome, only when the action is referred or notified (ff-tf-1)"
* insert PopulateIfKnown(extension[outcome])
* extension[outcome].value[x] 1..1
* extension[outcome].value[x] only CodeableConcept
* extension[outcome].value[x] from ThinkFamilyOutcomeValueSet (required)
