// On the parental-status extension: expectedDueDate / unbornChildHelp only when expectingChild is true.
Invariant: ff-ps-1
Description: "An expected due date or unborn-child help may be given only when expectingChild is true"
Severity: #error
Expression: "(extension.where(url = 'expectedDueDate').exists() or extension.where(url = 'unbornChildHelp').exists()) implies extension.where(url = 'expectingChild').value.where($this = true).exists()"
