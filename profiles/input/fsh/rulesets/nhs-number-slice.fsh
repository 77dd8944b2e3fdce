// The NHS number identifier slice shared by ParentPatient (1..1) and DependentChild (0..1), after UK Core:
// identifier sliced on `system` (open), the slice's system fixed, value required, modulus-11 invariant.
RuleSet: NhsNumberSlice(min)
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier ^slicing.description = "Sliced on the identifier system; the NHS number has its own slice."
* identifier contains nhsNumber {min}..1
* identifier[nhsNumber] ^short = "NHS number"
* identifier[nhsNumber] ^definition = "The person's NHS number: 10 digits, the last a modulus-11 check digit."
* identifier[nhsNumber] obeys ff-nhs-1
* identifier[nhsNumber].system 1..1
* identifier[nhsNumber].system = "https://fhir.nhs.uk/Id/nhs-number" (exactly)
* identifier[nhsNumber].value 1..1
