/// Sites of a lattice that see the same taps of a stencil land on a given
/// input support. The first net layer reads the masked field, which vanishes
/// off the frozen sites, so it skips the taps that read zeros: about half
/// of them for a checkerboard mask.
public struct TapGroup: Sendable {
    /// The group's sites, as lattice indices.
    public let sites: [Int32]
    /// The stencil taps that read the support at those sites.
    public let taps: [Int32]
}

extension ConvStencil {
    /// Sites grouped by the taps that read a site where `support` is true;
    /// every site is in exactly one group (possibly with no taps).
    public func tapGroups(support: [Bool]) -> [TapGroup] {
        var order: [[Int32]] = []
        var sitesByTaps: [[Int32]: [Int32]] = [:]
        for v in 0..<volume {
            let taps = (0..<tapCount).filter { support[Int(neighbour[$0 * volume + v])] }.map { Int32($0) }
            if sitesByTaps[taps] == nil { order.append(taps) }
            sitesByTaps[taps, default: []].append(Int32(v))
        }
        return order.map { TapGroup(sites: sitesByTaps[$0]!, taps: $0) }
    }
}
