/// A user-facing error about an input file: one line naming the file, the key or
/// field, and what was expected. The CLI prints `description` and exits non-zero.
public struct InputError: Error, CustomStringConvertible, Equatable {
    /// The file or folder the error is about.
    public let file: String
    /// The key, section or part of the file at fault, if any.
    public let field: String?
    /// What is wrong, or what was expected.
    public let message: String

    /// An error about `file` (and `field`) saying `message`.
    public init(file: String, field: String? = nil, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    /// Always one line: control characters quoted from a bad file (a newline in
    /// a TOML parser's message, say) are escaped.
    public var description: String {
        let text = field.map { "\(file): \($0): \(message)" } ?? "\(file): \(message)"
        return String(text.unicodeScalars.map { c -> String in
            switch c {
            case "\n": return "\\n"
            case "\r": return "\\r"
            case "\t": return "\\t"
            default:
                return c.value < 0x20 || c.value == 0x7F || c == "\u{85}" || c == "\u{2028}" || c == "\u{2029}"
                    ? "\\u{\(String(c.value, radix: 16))}" : String(c)
            }
        }.joined())
    }
}
