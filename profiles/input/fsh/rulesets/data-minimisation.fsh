// Data minimisation (docs/model.md): a national return carries no names, addresses, phone numbers, photos or
// free text about parents or children. Identity travels as NHS number plus date of birth.
// The elements shared by Patient and RelatedPerson; each profile prohibits its own extra ones.
RuleSet: NoIdentifyingDetail
* text 0..0
* name 0..0
* telecom 0..0
* address 0..0
* photo 0..0
* communication 0..0

// mustSupport obligations (as HL7 IPS states them with obligation extensions): for an element flagged MS, a
// sender SHALL populate it when the information is known to the sending system, and a receiver (the national
// collector) SHALL store and handle it. Elements that are 1..1 are always populated.
RuleSet: PopulateIfKnown(path)
* {path} ^comment = "mustSupport: the sender SHALL populate this element when the information is known; the receiver SHALL handle it."
