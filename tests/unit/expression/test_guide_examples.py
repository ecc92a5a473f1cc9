"""The examples of NiFi's Expression Language Guide, with the guide's documented results.

Each row is (expression, attributes, expected text). Rows are grouped as the guide is;
where the guide leaves a value unspecified (e.g. "true if the attribute exists") the row
fixes attributes that make it concrete. Dates use fixed instants and explicit zones.
"""

from __future__ import annotations

import pytest

from headwater.expression import compile_expression

FILE = {"filename": "a brand new filename.txt"}
HELLO = {"filename": "hello.txt", "hello": "hello.txt", "uuid": "x"}
SIZE = {"fileSize": "100"}
IFELSE = {"filename": "a brand new filename.txt", "bool": "true"}
JSON_TYPES = {
    "jsonObj": '{"name":"John", "age":30, "car":null}',
    "jsonObjMissingStartingBrace": '"name":"John", "age":30, "car":null}',
    "jsonObjMissingEndingBrace": '{"name":"John", "age":30, "car":null',
    "jsonArray": '["Ford", "BMW", "Fiat"]',
    "jsonArrayMissingStartingBracket": '"Ford", "BMW", "Fiat"]',
    "jsonArrayMissingEndingBracket": '["Ford", "BMW", "Fiat"',
    "emptyQuotedString": '""',
    "quotedString": '"someString"',
    "integer": "1234",
    "decimal": "18.36",
    "trueAttr": "true",
    "falseAttr": "false",
    "nullAttr": "null",
}
LINE = {"line": '"Jacobson, John", 32, Mr.', "altLine": "Jacobson, John|32|Mr."}
GREET = {"greetings": "hello"}
MYJSON = {
    "myJson": (
        '{"firstName": "John", "lastName": "Smith", "isAlive": true, "age": 25,'
        ' "address": {"streetAddress": "21 2nd Street", "city": "New York", "state": "NY",'
        ' "postalCode": "10021-3100"}, "phoneNumbers": [{"type": "home", "number":'
        ' "212 555-1234"}, {"type": "office", "number": "646 555-4567"}], "children": [],'
        ' "spouse": null}'
    )
}
TIME = {"time": "1420058163264"}
MULTI = {"abc": "hello world", "xyz": "good bye world", "filename": "file.txt"}
LISTS = {"number_list": "1,2,3,4,5", "word_list": "the,and,or,not"}
LISTS2 = {"number_list": "1,2,3,4,5", "word_list": "those,known,or,not"}
COUNTS = {"abc": "hello world", "xyz": "good bye world", "number_list": "1,2,3,4,5"}
ESC = {"abc": "xyz"}
PHONES = '[{"type":"home","number":"212 555-1234"},{"type":"office","number":"646 555-4567"}]'

CASES: list[tuple[str, dict[str, str], str]] = [
    # Structure of an expression
    ("${filename}", FILE, "a brand new filename.txt"),
    ("${filename:toUpper()}", FILE, "A BRAND NEW FILENAME.TXT"),
    ("${filename:toUpper():equals('HELLO.TXT')}", HELLO, "true"),
    ("${'my attribute'}", {"my attribute": "v"}, "v"),
    ('${"my attribute"}', {"my attribute": "v"}, "v"),
    ("${filename:equals( ${uuid} )}", {"filename": "u", "uuid": "u"}, "true"),
    ("${     filename   : equals(${    uuid})  }", {"filename": "u", "uuid": "u"}, "true"),
    ("${hostname():toUpper():length():gt(0)}", {}, "true"),
    # Escaping
    ("${abc}", ESC, "xyz"),
    ("$${abc}", ESC, "${abc}"),
    ("$$${abc}", ESC, "$xyz"),
    ("$$$${abc}", ESC, "$${abc}"),
    ("$$$$${abc}", ESC, "$$xyz"),
    ("I owe you $5", ESC, "I owe you $5"),
    ("You owe me $$5 too", ESC, "You owe me $$5 too"),
    ("Unescaped $$${'5'} because no closing brace", ESC, "Unescaped $ because no closing brace"),
    ("Hello $$User$$Name", ESC, "Hello $$User$$Name"),
    # Boolean logic
    ("${filename:isNull()}", {}, "true"),
    ("${filename:isNull()}", FILE, "false"),
    ("${filename:notNull()}", FILE, "true"),
    ("${filename:notNull()}", {}, "false"),
    ("${filename:isEmpty()}", {}, "true"),
    ("${filename:isEmpty()}", {"filename": " \t\n"}, "true"),
    ("${filename:isEmpty()}", FILE, "false"),
    ('${literal(" "):isEmpty()}', {}, "true"),
    ('${literal(""):isEmpty()}', {}, "true"),
    ("${filename:equals('hello.txt')}", HELLO, "true"),
    ("${filename:equals('hello.txt')}", FILE, "false"),
    ("${hello:equals( ${filename} )}", HELLO, "true"),
    ("${filename:equalsIgnoreCase('hello.txt')}", {"filename": "HeLLo.TxT"}, "true"),
    ("${filename:equalsIgnoreCase('hello.txt')}", {"filename": "HELLO.TXT"}, "true"),
    ("${fileSize:gt( 1024 )}", {"fileSize": "1025"}, "true"),
    ("${fileSize:gt( 1024 )}", {"fileSize": "1024"}, "false"),
    ("${fileSize:ge( 1024 )}", {"fileSize": "1024"}, "true"),
    ("${fileSize:lt( 1048576 )}", {"fileSize": "1048575"}, "true"),
    ("${fileSize:le( 1048576 )}", {"fileSize": "1048576"}, "true"),
    ("${fileSize:gt( 1024 )}", {"fileSize": "big"}, "false"),
    (
        "${filename:toLower():equals( ${filename} ):and(\n\t${filename:length():ge(5)}\n)}",
        {"filename": "hello.txt"},
        "true",
    ),
    (
        "${filename:toLower():equals( ${filename} ):and(\n\t${filename:length():ge(5)}\n)}",
        {"filename": "abc"},
        "false",
    ),
    (
        "${filename:toLower():equals( ${filename} ):or(\n\t${filename:length():equals(5)}\n)}",
        {"filename": "ABCDE"},
        "true",
    ),
    (
        "${filename:toLower():equals( ${filename} ):or(\n\t${filename:length():equals(5)}\n)}",
        {"filename": "ABCDEF"},
        "false",
    ),
    ("${filename:equals('hello.txt'):not()}", HELLO, "false"),
    ("${filename:equals('hello.txt'):not()}", FILE, "true"),
    ("${bool:ifElse('a','b')}", IFELSE, "a"),
    ("${literal(true):ifElse('a','b')}", IFELSE, "a"),
    (
        "${nullFilename:isNull():ifElse('file does not exist', 'located file')}",
        IFELSE,
        "file does not exist",
    ),
    ("${nullFilename:ifElse('found', 'not_found')}", IFELSE, "not_found"),
    ("${filename:ifElse('found', 'not_found')}", IFELSE, "not_found"),
    ("${filename:isNull():not():ifElse('found', 'not_found')}", IFELSE, "found"),
    ("${jsonObj:isJson()}", JSON_TYPES, "true"),
    ("${jsonObjMissingStartingBrace:isJson()}", JSON_TYPES, "false"),
    ("${jsonObjMissingEndingBrace:isJson()}", JSON_TYPES, "false"),
    ("${jsonArray:isJson()}", JSON_TYPES, "true"),
    ("${jsonArrayMissingStartingBracket:isJson()}", JSON_TYPES, "false"),
    ("${jsonArrayMissingEndingBracket:isJson()}", JSON_TYPES, "false"),
    ("${someAttribute:isJson()}", JSON_TYPES, "false"),
    ("${emptyQuotedString:isJson()}", JSON_TYPES, "false"),
    ("${quotedString:isJson()}", JSON_TYPES, "false"),
    ("${integer:isJson()}", JSON_TYPES, "false"),
    ("${decimal:isJson()}", JSON_TYPES, "false"),
    ("${trueAttr:isJson()}", JSON_TYPES, "false"),
    ("${falseAttr:isJson()}", JSON_TYPES, "false"),
    ("${nullAttr:isJson()}", JSON_TYPES, "false"),
    # String manipulation
    ("${filename:toUpper()}", {"filename": "abc123.txt"}, "ABC123.TXT"),
    ("${filename:toLower()}", {"filename": "ABC123.TXT"}, "abc123.txt"),
    ("${attr:trim()}", {"attr": "     1 2 3     "}, "1 2 3"),
    ("${filename:substring(0,1)}", FILE, "a"),
    ("${filename:substring(2)}", FILE, "brand new filename.txt"),
    ("${filename:substring(12)}", FILE, "filename.txt"),
    ("${filename:substring( ${filename:length():minus(2)} )}", FILE, "xt"),
    ("${filename:substringBefore('.')}", FILE, "a brand new filename"),
    ("${filename:substringBefore(' ')}", FILE, "a"),
    ("${filename:substringBefore(' n')}", FILE, "a brand"),
    ("${filename:substringBefore('missing')}", FILE, "a brand new filename.txt"),
    ("${filename:substringBeforeLast('.')}", FILE, "a brand new filename"),
    ("${filename:substringBeforeLast(' ')}", FILE, "a brand new"),
    ("${filename:substringBeforeLast(' n')}", FILE, "a brand"),
    ("${filename:substringBeforeLast('missing')}", FILE, "a brand new filename.txt"),
    ("${filename:substringAfter('.')}", FILE, "txt"),
    ("${filename:substringAfter(' ')}", FILE, "brand new filename.txt"),
    ("${filename:substringAfter(' n')}", FILE, "ew filename.txt"),
    ("${filename:substringAfter('missing')}", FILE, "a brand new filename.txt"),
    ("${filename:substringAfterLast('.')}", FILE, "txt"),
    ("${filename:substringAfterLast(' ')}", FILE, "filename.txt"),
    ("${filename:substringAfterLast(' n')}", FILE, "ew filename.txt"),
    ("${filename:substringAfterLast('missing')}", FILE, "a brand new filename.txt"),
    ("${line:getDelimitedField(2)}", LINE, " 32"),
    ("${line:getDelimitedField(2):trim()}", LINE, "32"),
    ("${line:getDelimitedField(1)}", LINE, '"Jacobson, John"'),
    ("${line:getDelimitedField(1, ',', '\"', '\\\\', true)}", LINE, "Jacobson, John"),
    ("${altLine:getDelimitedField(1, '|')}", LINE, "Jacobson, John"),
    ("${filename:append('.gz')}", FILE, "a brand new filename.txt.gz"),
    (
        "${filename:prepend('a brand new ')}",
        {"filename": "filename.txt"},
        "a brand new filename.txt",
    ),
    ("${filename:replace('.', '_')}", FILE, "a brand new filename_txt"),
    ("${filename:replace(' ', '.')}", FILE, "a.brand.new.filename.txt"),
    ("${filename:replace('XYZ', 'ZZZ')}", FILE, "a brand new filename.txt"),
    ("${filename:replace('filename', 'book')}", FILE, "a brand new book.txt"),
    ("${filename:replaceFirst('a', 'the')}", FILE, "the brand new filename.txt"),
    ("${filename:replaceFirst('[br]', 'g')}", FILE, "a grand new filename.txt"),
    ("${filename:replaceFirst('XYZ', 'ZZZ')}", FILE, "a brand new filename.txt"),
    ("${filename:replaceFirst('\\w{8}', 'book')}", FILE, "a brand new book.txt"),
    ("${filename:replaceAll('\\..*', '')}", FILE, "a brand new filename"),
    ("${filename:replaceAll('a brand (new)', '$1')}", FILE, "new filename.txt"),
    ("${filename:replaceAll('XYZ', 'ZZZ')}", FILE, "a brand new filename.txt"),
    ("${filename:replaceAll('brand (new)', 'somewhat $1')}", FILE, "a somewhat new filename.txt"),
    ("${greetings:padLeft(10)}", GREET, "_____hello"),
    ("${greetings:padLeft(10, '@')}", GREET, "@@@@@hello"),
    ("${greetings:padLeft(10, 'xy')}", GREET, "xyxyxhello"),
    ("${greetings:padLeft(10, 'aVeryLongPaddingString')}", GREET, "aVeryhello"),
    ("${greetings:padRight(10)}", GREET, "hello_____"),
    ("${greetings:padRight(10, '@')}", GREET, "hello@@@@@"),
    ("${greetings:padRight(10, 'xy')}", GREET, "helloxyxyx"),
    ("${greetings:padRight(10, 'aVeryLongPaddingString')}", GREET, "helloaVery"),
    ("${filename:replaceNull('abc')}", FILE, "a brand new filename.txt"),
    ("${hello:replaceNull('abc')}", FILE, "abc"),
    ("${filename:replaceEmpty('abc')}", FILE, "a brand new filename.txt"),
    ("${hello:replaceEmpty('abc')}", {"hello": "  "}, "abc"),
    ("${filename:length()}", FILE, "24"),
    ("${hello:length()}", FILE, "0"),
    (
        "${query:evaluateELString()}",
        {"query": "SELECT * FROM TABLE WHERE ID = ${id}", "id": "20"},
        "SELECT * FROM TABLE WHERE ID = 20",
    ),
    ("${str:repeat(1)}", {"str": "abc"}, "abc"),
    ("${str:repeat(2)}", {"str": "abc"}, "abcabc"),
    # Encode / decode
    (
        "${message:escapeJson()}",
        {"message": 'He didn\'t say, "Stop!"'},
        'He didn\'t say, \\"Stop!\\"',
    ),
    (
        "${message:escapeXml()}",
        {"message": '"bread" & "butter"'},
        "&quot;bread&quot; &amp; &quot;butter&quot;",
    ),
    ("${message:escapeCsv()}", {"message": "But finally, she left"}, '"But finally, she left"'),
    (
        "${message:escapeHtml3()}",
        {"message": '"bread" & "butter"'},
        "&quot;bread&quot; &amp; &quot;butter&quot;",
    ),
    (
        "${message:escapeHtml4()}",
        {"message": '"bread" & "butter"'},
        "&quot;bread&quot; &amp; &quot;butter&quot;",
    ),
    (
        "${message:unescapeJson()}",
        {"message": 'He didn\'t say, \\"Stop!\\"'},
        'He didn\'t say, "Stop!"',
    ),
    (
        "${message:unescapeXml()}",
        {"message": "&quot;bread&quot; &amp; &quot;butter&quot;"},
        '"bread" & "butter"',
    ),
    ("${message:unescapeCsv()}", {"message": '"But finally, she left"'}, "But finally, she left"),
    (
        "${message:unescapeHtml3()}",
        {"message": "&quot;bread&quot; &amp; &quot;butter&quot;"},
        '"bread" & "butter"',
    ),
    (
        "${message:unescapeHtml4()}",
        {"message": "&quot;bread&quot; &amp; &quot;butter&quot;"},
        '"bread" & "butter"',
    ),
    (
        "${url:urlEncode()}",
        {"url": "https://nifi.apache.org/some value with spaces"},
        "https%3A%2F%2Fnifi.apache.org%2Fsome+value+with+spaces",
    ),
    (
        "${url:urlDecode()}",
        {"url": "https://nifi.apache.org/some%20value%20with%20spaces"},
        "https://nifi.apache.org/some value with spaces",
    ),
    (
        "${url:urlDecode()}",
        {"url": "https%3A%2F%2Fnifi.apache.org%2Fsome+value+with+spaces"},
        "https://nifi.apache.org/some value with spaces",
    ),
    ("${payload:base64Encode()}", {"payload": "admin:admin"}, "YWRtaW46YWRtaW4="),
    ("${payload:base64Decode()}", {"payload": "YWRtaW46YWRtaW4="}, "admin:admin"),
    ("${payload:base32Encode()}", {"payload": "admin:admin"}, "MFSG22LOHJQWI3LJNY======"),
    ("${payload:base32Decode()}", {"payload": "MFSG22LOHJQWI3LJNY======"}, "admin:admin"),
    (
        "${attr:UUID3('b9e81de3-7047-4b5e-a822-8fff5b49f808')}",
        {"attr": "string value"},
        "bf0ea246-a177-3300-bd7e-d4c9e973dc6f",
    ),
    (
        "${attr:UUID5('245b55a8-397d-4480-a41e-16603c8cf9ad')}",
        {"attr": "string value"},
        "4d111477-5100-5f2d-ae79-b38bbe15aa78",
    ),
    (
        "${payload:hash('SHA-256')}",
        {"payload": "string value"},
        "9b6a1a9167a5caf3f5948413faa89e0ec0de89e12bef55327442e60dcc0e8c9b",
    ),
    # Searching
    ("${filename:startsWith('a brand')}", FILE, "true"),
    ("${filename:startsWith('A BRAND')}", FILE, "false"),
    ("${filename:toUpper():startsWith('A BRAND')}", FILE, "true"),
    ("${filename:endsWith('txt')}", FILE, "true"),
    ("${filename:endsWith('TXT')}", FILE, "false"),
    ("${filename:toUpper():endsWith('TXT')}", FILE, "true"),
    ("${filename:contains('new')}", FILE, "true"),
    ("${filename:contains('NEW')}", FILE, "false"),
    ("${filename:toUpper():contains('NEW')}", FILE, "true"),
    ('${myEnum:in("PAUL", "JOHN", "MIKE")}', {"myEnum": "JOHN"}, "true"),
    ('${myEnum:in("RED", "GREEN", "BLUE")}', {"myEnum": "JOHN"}, "false"),
    ("${filename:find('a [Bb]rand [Nn]ew')}", FILE, "true"),
    ("${filename:find('Brand.*')}", FILE, "false"),
    ("${filename:find('brand')}", FILE, "true"),
    ("${filename:matches('a.*txt')}", FILE, "true"),
    ("${filename:matches('brand')}", FILE, "false"),
    ("${filename:matches('.+brand.+')}", FILE, "true"),
    ("${filename:indexOf('a.*txt')}", FILE, "-1"),
    ("${filename:indexOf('.')}", FILE, "20"),
    ("${filename:indexOf('a')}", FILE, "0"),
    ("${filename:indexOf(' ')}", FILE, "1"),
    ("${filename:lastIndexOf('a.*txt')}", FILE, "-1"),
    ("${filename:lastIndexOf('.')}", FILE, "20"),
    ("${filename:lastIndexOf('a')}", FILE, "17"),
    ("${filename:lastIndexOf(' ')}", FILE, "11"),
    ("${myJson:jsonPath('$.firstName')}", MYJSON, "John"),
    ("${myJson:jsonPath('$.address.postalCode')}", MYJSON, "10021-3100"),
    ("${myJson:jsonPath('$.phoneNumbers[?(@.type==\"home\")].number')}", MYJSON, "212 555-1234"),
    ("${myJson:jsonPath('$.phoneNumbers')}", MYJSON, PHONES),
    ("${myJson:jsonPath('$.missing-path')}", MYJSON, ""),
    ("${myJson:jsonPath('$.age')}", MYJSON, "25"),
    ("${myJson:jsonPath('$.isAlive')}", MYJSON, "true"),
    # Mathematical operations
    ("${fileSize:plus(1000)}", SIZE, "1100"),
    ("${fileSize:minus(100)}", SIZE, "0"),
    ("${fileSize:multiply(1024)}", SIZE, "102400"),
    ("${fileSize:divide(12)}", SIZE, "8"),
    ("${fileSize:mod(12)}", SIZE, "4"),
    ("${fileSize:toRadix(10)}", {"fileSize": "1024"}, "1024"),
    ("${fileSize:toRadix(10, 1)}", {"fileSize": "1024"}, "1024"),
    ("${fileSize:toRadix(10, 8)}", {"fileSize": "1024"}, "00001024"),
    ("${fileSize:toRadix(16)}", {"fileSize": "1024"}, "400"),
    ("${fileSize:toRadix(16, 8)}", {"fileSize": "1024"}, "00000400"),
    ("${fileSize:toRadix(2)}", {"fileSize": "1024"}, "10000000000"),
    ("${fileSize:toRadix(2, 16)}", {"fileSize": "1024"}, "0000010000000000"),
    ("${fileSize:fromRadix(11)}", {"fileSize": "1234A"}, "17720"),
    ("${fileSize:fromRadix(16)}", {"fileSize": "1234A"}, "74570"),
    ("${fileSize:fromRadix(20)}", {"fileSize": "1234A"}, "177290"),
    ("${random():mod(10):plus(1):ge(1)}", {}, "true"),
    ('${math("random"):lt(1)}', {}, "true"),
    ('${literal(2):toDecimal():math("pow", 2.5)}', {}, "5.656854249492381"),
    ('${literal(64):toDecimal():math("cbrt"):toNumber():math("max", 5)}', {}, "5"),
    ('${literal(5.4):math("scalb", 2)}', {}, "21.6"),
    (
        '${first:toDecimal():math("pow", ${second:toDecimal()})}',
        {"first": "2.5", "second": "2"},
        "6.25",
    ),
    ('${literal("0xF"):toNumber()}', {}, "15"),
    ("${literal(1.1):plus(1)}", {}, "2.1"),
    ("${literal(.1E1):multiply(2)}", {}, "2.0"),
    ("${fileSize:divide(8.0)}", SIZE, "12.5"),
    # Date manipulation
    ('${time:format("yyyy/MM/dd HH:mm:ss.SSS\\\'Z\'", "GMT")}', TIME, "2014/12/31 20:36:03.264Z"),
    (
        '${time:format("yyyy/MM/dd HH:mm:ss.SSS\\\'Z\'", "America/Los_Angeles")}',
        TIME,
        "2014/12/31 12:36:03.264Z",
    ),
    (
        '${time:format("yyyy/MM/dd HH:mm:ss.SSS\\\'Z\'", "Asia/Tokyo")}',
        TIME,
        "2015/01/01 05:36:03.264Z",
    ),
    ('${time:format("yyyy/MM/dd", "GMT")}', TIME, "2014/12/31"),
    ('${time:format("HH:mm:ss.SSS\\\'Z\'", "GMT")}', TIME, "20:36:03.264Z"),
    ('${time:format("yyyy", "GMT")}', TIME, "2014"),
    ("${year:toDate('yyyy', 'GMT'):toNumber()}", {"year": "2014"}, "1388534400000"),
    (
        '${time:toDate("yyyy/MM/dd HH:mm:ss.SSS\'Z\'", "GMT"):toNumber()}',
        {"time": "2014/12/31 15:36:03.264Z"},
        "1420040163264",
    ),
    (
        "${date:toDate('MM-dd-yyyy', 'GMT'):format('yyyy/MM/dd', 'GMT')}",
        {"date": "12-24-2014"},
        "2014/12/24",
    ),
    (
        '${time:formatInstant("yyyy/MM/dd HH:mm:ss.SSS\\\'Z\'", "GMT")}',
        {"time": "1647884009479"},
        "2022/03/21 17:33:29.479Z",
    ),
    (
        '${timeIsoOffset:formatInstant("yyyy/MM/dd HH:mm:ss.SSS\\\'Z\'", "Asia/Tokyo")}',
        {"timeIsoOffset": "2022-12-03T10:15:30+01:00"},
        "2022/12/03 18:15:30.000Z",
    ),
    (
        '${timeRFC1123:formatInstant("yyyy/MM/dd HH:mm:ss.SSS\\\'Z\'", "GMT")}',
        {"timeRFC1123": "Thu, 01 Dec 2022 16:00:00 GMT"},
        "2022/12/01 16:00:00.000Z",
    ),
    (
        "${dateTime:toInstant('MM-dd-yyyy HH:mm:ss', 'GMT'):formatInstant('yyyy/MM/dd', 'GMT')}",
        {"dateTime": "12-24-2014 12:06:59"},
        "2014/12/24",
    ),
    (
        "${dateTime:toInstant('yyyy/MM/dd HH:mm:ss.SSSSSS', 'America/New_York'):toMicros()}",
        {"dateTime": "2022/03/18 10:22:27.678234"},
        "1647613347678234",
    ),
    ("${now():toNumber():gt(1420058163264)}", {}, "true"),
    ("${now():format('yyyy'):toNumber():ge(2024)}", {}, "true"),
    ("${time:format('E', 'GMT')}", TIME, "Wed"),
    ("${time:minus(86400000):format('E', 'GMT')}", TIME, "Tue"),
    # Type coercion
    ("${fileSize:toNumber():toString()}", SIZE, "100"),
    ("${fileSize:toNumber()}", SIZE, "100"),
    ("${fileSize:toDecimal()}", SIZE, "100.0"),
    # Subjectless functions
    ("${ip():length():gt(6)}", {}, "true"),
    ("${hostname(false):equals(${hostname()})}", {}, "true"),
    ("${hostname(true):length():gt(0)}", {}, "true"),
    (
        "${UUID():matches('[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}')}",
        {},
        "true",
    ),
    ("${nextInt():ge(0)}", {}, "true"),
    ("${literal(2):gt(1)}", {}, "true"),
    (
        "${literal( ${allMatchingAttributes('a.*'):count()} ):gt(3)}",
        {"a1": "x", "a2": "x", "a3": "x", "a4": "x", "b": "x"},
        "true",
    ),
    ("${thread():length():gt(0)}", {}, "true"),
    # Evaluating multiple attributes
    ('${anyAttribute("abc", "xyz"):contains("bye")}', MULTI, "true"),
    ('${anyAttribute("filename","xyz"):toUpper():contains("e")}', MULTI, "false"),
    ('${allAttributes("abc", "xyz"):contains("world")}', MULTI, "true"),
    ('${allAttributes("abc", "filename","xyz"):toUpper():contains("e")}', MULTI, "false"),
    ("${anyMatchingAttribute(\"[ax].*\"):contains('bye')}", MULTI, "true"),
    ('${anyMatchingAttribute(".*"):isNull()}', MULTI, "false"),
    ('${allMatchingAttributes("[ax].*"):contains("world")}', MULTI, "true"),
    ('${allMatchingAttributes(".*"):isNull()}', MULTI, "false"),
    ('${allMatchingAttributes("f.*"):count()}', MULTI, "1"),
    ('${anyDelineatedValue("${number_list}", ","):contains("5")}', LISTS, "true"),
    ('${anyDelineatedValue("this that and", ","):equals("${word_list}")}', LISTS, "false"),
    ('${allDelineatedValues("${word_list}", ","):contains("o")}', LISTS2, "true"),
    ('${allDelineatedValues("${number_list}", ","):count()}', LISTS2, "5"),
    ('${allDelineatedValues("${number_list}", ","):matches("[0-9]+")}', LISTS2, "true"),
    ('${allDelineatedValues("${word_list}", ","):matches(\'e\')}', LISTS2, "false"),
    ('${allMatchingAttributes("[ax].*"):substringBefore(" "):join("-")}', MULTI, "hello-good"),
    ('${allAttributes("abc", "xyz"):join(" now")}', MULTI, "hello world nowgood bye world"),
    ('${allMatchingAttributes("[ax].*"):substringBefore(" "):count()}', COUNTS, "2"),
    ('${allDelineatedValues(${number_list}, ","):count()}', COUNTS, "5"),
    ('${allAttributes("abc", "non-existent-attr", "xyz"):count()}', COUNTS, "2"),
    ('${allMatchingAttributes(".*"):length():gt(10):count()}', COUNTS, "2"),
]


@pytest.mark.parametrize(("expression", "attributes", "expected"), CASES)
def test_guide_example(expression: str, attributes: dict[str, str], expected: str) -> None:
    assert compile_expression(expression).evaluate(attributes) == expected


GET_URI = [
    (
        "${getUri('https', 'admin:admin', 'nifi.apache.org', '1234', '/path/data ', "
        "'key=value &key2=value2', 'frag1')}",
        "https://admin:admin@nifi.apache.org:1234/path/data%20?key=value%20&key2=value2#frag1",
    ),
    (
        "${getUri('https', null, 'nifi.apache.org', 8443, '/docs.html', null, null)}",
        "https://nifi.apache.org:8443/docs.html",
    ),
    (
        "${getUri('http', null, 'nifi.apache.org', -1, '/docs.html', null, null)}",
        "http://nifi.apache.org/docs.html",
    ),
]


@pytest.mark.parametrize(("expression", "expected"), GET_URI)
def test_guide_get_uri(expression: str, expected: str) -> None:
    assert compile_expression(expression).evaluate({}) == expected
