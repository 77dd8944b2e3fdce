Extension: ReportingPeriod
Id: reporting-period
Title: "Reporting period"
Description: "The calendar month a national return covers; its end is the reporting date (children are under 18 on it, ff-bun-5, ff-bun-6 and ff-ps-3 compare dates with it). A fact of the return, not of the person, so it sits on Bundle.meta: an R4 Bundle has no extension element of its own."
Context: Bundle.meta
* insert GuideMetadata
* value[x] 1..1
* value[x] only Period
* valuePeriod.start 1..1
* valuePeriod.end 1..1
