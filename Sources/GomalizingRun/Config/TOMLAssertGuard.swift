import GomalizingFlow
/// TOMLKit's bundled toml++ (3.x) asserts, killing the process, on a few
/// invalid inputs instead of reporting them: a table header that does not start
/// with a key character ("[%x]", "[" then a newline), a "}" where an array
/// expects a value ("[}", "[1, }"), and the Unicode line separators U+0085,
/// U+2028, U+2029 outside strings. This scan finds them first so they become
/// ordinary parse errors. It follows strings and comments, so text inside them
/// is never mistaken for structure. All of these are invalid TOML anyway.
enum TOMLAssertGuard {
    /// The 1-based line and column of the first such spot and what is wrong there.
    static func firstProblem(in text: String) -> (line: Int, column: Int, message: String)? {
        let chars = Array(text.unicodeScalars)
        var i = 0, line = 1, lineStart = 0
        var atLineStart = true          // only blanks so far on this line, outside strings
        var lastSignificant: Unicode.Scalar = "\n"  // the previous non-blank character outside strings and comments
        func starts(_ quote: Unicode.Scalar, at k: Int) -> Bool {
            k + 3 <= chars.count && chars[k] == quote && chars[k + 1] == quote && chars[k + 2] == quote
        }
        func isKeyStart(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
                || c == "_" || c == "-" || c == "\"" || c == "'" || c == "]"
        }
        func here(_ k: Int, _ message: String) -> (Int, Int, String) { (line, k - lineStart + 1, message) }
        while i < chars.count {
            let c = chars[i]
            if c == "\n" {
                line += 1; lineStart = i + 1; atLineStart = true; i += 1; continue
            }
            if c == "#" {  // comment to the end of the line
                while i < chars.count && chars[i] != "\n" { i += 1 }
                continue
            }
            if (c == "\"" || c == "'") && starts(c, at: i) {  // multi-line string
                i += 3
                while i < chars.count && !starts(c, at: i) {
                    if chars[i] == "\n" { line += 1; lineStart = i + 1 }
                    if c == "\"" && chars[i] == "\\" { i += 1 }
                    i += 1
                }
                i += 3
                atLineStart = false
                lastSignificant = c
                continue
            }
            if c == "\"" || c == "'" {  // one-line string
                i += 1
                while i < chars.count && chars[i] != c && chars[i] != "\n" {
                    if c == "\"" && chars[i] == "\\" { i += 1 }
                    i += 1
                }
                i += 1
                atLineStart = false
                lastSignificant = c
                continue
            }
            if c == "\u{85}" || c == "\u{2028}" || c == "\u{2029}" {
                return here(i, "a Unicode line separator (U+\(String(c.value, radix: 16, uppercase: true))) outside a string")
            }
            if c == "}" && (lastSignificant == "[" || lastSignificant == ",") {
                return here(i, "expected a value before '}'")
            }
            if atLineStart && c == "[" {
                var k = i + 1
                if k < chars.count && chars[k] == "[" { k += 1 }
                // Only TOML's own whitespace: anything else must be a key character.
                while k < chars.count && (chars[k] == " " || chars[k] == "\t") { k += 1 }
                if k < chars.count && !isKeyStart(chars[k]) { return here(k, "expected a key in the table header") }
            }
            if c != " " && c != "\t" && c != "\r" {
                atLineStart = false
                lastSignificant = c
            }
            i += 1
        }
        return nil
    }
}
