CodeSystem: LegalBasisCodeSystem
Id: legal-basis
Title: "Legal basis of the return"
Description: "The basis under which the patient's record flows to the national collection. The gateways named are to be confirmed by information governance and legal leads."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(LegalBasisValueSet)
* #national-direction "A direction for the national collection (HSCA 2012 s.254, to be confirmed)" "The record flows under a direction for the national collection (Health and Social Care Act 2012 s.254; UK GDPR Art 6(1)(c) or (e) and Art 9(2)(h)); to be confirmed."
* #consent "The patient consented" "The patient consented to the record flowing."
* #safeguarding "Safeguarding of children (DPA 2018 Sch 1 para 18)" "The record flows to safeguard children (Data Protection Act 2018 Schedule 1 paragraph 18; Children Act 2004 s.11)."
* #consent-withheld "Consent withheld: only the provider's counts flow" "The patient withheld consent and no other basis applies: only the provider's aggregate counts use the record."
