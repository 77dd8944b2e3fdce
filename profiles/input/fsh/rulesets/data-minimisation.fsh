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
