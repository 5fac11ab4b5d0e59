import GomalizingFlow
import TOMLKit

/// Typed, checked access to one table of a TOML document. Every read names the
/// key in its error, and `finish()` rejects keys nobody asked for (typos).
struct TOMLSection {
    let file: String
    let name: String?
    let table: TOMLTable?
    private(set) var used: Set<String> = []

    init(file: String, name: String?, table: TOMLTable?) {
        self.file = file
        self.name = name
        self.table = table
    }

    func field(_ key: String) -> String { name.map { "[\($0)] \(key)" } ?? key }

    func fail(_ key: String, _ msg: String) -> InputError { InputError(file: file, field: field(key), msg) }

    /// A required key is absent: when a key of the table that nobody has read
    /// looks like a misspelling of it, name that one instead.
    func missing(_ key: String, _ expected: String) -> InputError {
        let unread = (table?.keys ?? []).filter { !used.contains($0) }.sorted()
        if let typo = unread.first(where: { Spelling.suggestion(for: $0, among: [key]) != nil }) {
            return fail(typo, "unknown key; did you mean \(key)? (expected \(expected))")
        }
        return fail(key, "missing; expected \(expected)")
    }

    private func describe(_ v: TOMLValueConvertible) -> String {
        switch v.type {
        case .string: return "the string \"\(v.string ?? "")\""
        default: return "a \(v.type)"
        }
    }

    mutating func raw(_ key: String) -> TOMLValueConvertible? {
        used.insert(key)
        return table?[key]
    }

    mutating func int(_ key: String, default def: Int? = nil, _ expected: String, _ valid: (Int) -> Bool = { _ in true }) throws -> Int {
        guard let v = raw(key) else {
            if let def { return def }
            throw missing(key, expected)
        }
        guard let i = v.int else { throw fail(key, "expected \(expected), got \(describe(v))") }
        guard valid(i) else { throw fail(key, "expected \(expected), got \(i)") }
        return i
    }

    mutating func double(_ key: String, default def: Double? = nil, _ expected: String, _ valid: (Double) -> Bool = { $0.isFinite }) throws -> Double {
        guard let v = raw(key) else {
            if let def { return def }
            throw missing(key, expected)
        }
        // TOML writes 4 and 4.0 differently; physicists write both.
        guard let x = v.double ?? v.int.map(Double.init) else { throw fail(key, "expected \(expected), got \(describe(v))") }
        guard valid(x) else { throw fail(key, "expected \(expected), got \(x)") }
        return x
    }

    mutating func bool(_ key: String, default def: Bool? = nil) throws -> Bool {
        guard let v = raw(key) else {
            if let def { return def }
            throw missing(key, "true or false")
        }
        guard let b = v.bool else { throw fail(key, "expected true or false, got \(describe(v))") }
        return b
    }

    mutating func string(_ key: String, default def: String? = nil, _ expected: String) throws -> String {
        guard let v = raw(key) else {
            if let def { return def }
            throw missing(key, expected)
        }
        guard let s = v.string else { throw fail(key, "expected \(expected), got \(describe(v))") }
        return s
    }

    mutating func intArray(_ key: String, default def: [Int]? = nil, _ expected: String, _ valid: (Int) -> Bool) throws -> [Int] {
        guard let v = raw(key) else {
            if let def { return def }
            throw missing(key, expected)
        }
        guard let a = v.array else { throw fail(key, "expected \(expected), got \(describe(v))") }
        var out: [Int] = []
        for e in a {
            guard let i = e.int, valid(i) else { throw fail(key, "expected \(expected), got an element \(e.type == .int ? String(e.int!) : describe(e))") }
            out.append(i)
        }
        return out
    }

    /// Rejects keys that were never read: a misspelt key must not be silently ignored.
    func finish(allowed extra: Set<String> = []) throws {
        guard let table else { return }
        for key in table.keys.sorted() where !used.contains(key) && !extra.contains(key) {
            let names = used.union(extra).sorted()
            if let guess = Spelling.suggestion(for: key, among: names) {
                throw fail(key, "unknown key; did you mean \(guess)?")
            }
            throw fail(key, "unknown key; known keys here are: \(names.joined(separator: ", "))")
        }
    }
}
