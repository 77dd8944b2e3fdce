// NHS number: 10 digits, weights 10..2 on the first nine, check = 11 - (sum mod 11), 11 -> 0. A check value of
// 10 never equals a single digit, so such numbers are rejected, as the NHS rules require.
Invariant: ff-nhs-1
Description: "NHS number must be 10 digits with a valid modulus-11 check digit"
Severity: #error
Expression: "value.matches('^[0-9]{10}$') and ((11 - ((value.substring(0,1).toInteger()*10 + value.substring(1,1).toInteger()*9 + value.substring(2,1).toInteger()*8 + value.substring(3,1).toInteger()*7 + value.substring(4,1).toInteger()*6 + value.substring(5,1).toInteger()*5 + value.substring(6,1).toInteger()*4 + value.substring(7,1).toInteger()*3 + value.substring(8,1).toInteger()*2) mod 11)) mod 11) = value.substring(9,1).toInteger()"
