/// A user-facing error about an input file: one line naming the file, the key or
/// field, and what was expected. The CLI prints `description` and exits non-zero.
public struct InputError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let field: String?
    public let message: String

    public init(file: String, field: String? = nil, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String {
        if let field { return "\(file): \(field): \(message)" }
        return "\(file): \(message)"
    }
}
