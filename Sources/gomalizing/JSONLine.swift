import Foundation

/// One JSON object on one line, keys in the given order (JSON Lines), for the
/// machine-readable logs. Non-finite numbers, which JSON cannot hold, are null.
enum JSONLine {
    static func encode(_ fields: [(String, Any)]) -> String {
        "{" + fields.map { "\(quote($0.0)):\(value($0.1))" }.joined(separator: ",") + "}"
    }

    static func value(_ v: Any) -> String {
        switch v {
        case let b as Bool: return b ? "true" : "false"
        case let i as Int: return "\(i)"
        case let d as Double: return d.isFinite ? "\(d)" : "null"
        case let s as String: return quote(s)
        default: return quote("\(v)")
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 { out += String(format: "\\u%04x", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
