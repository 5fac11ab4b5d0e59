import Numerics

/// The monotone rational-quadratic spline of Durkan et al., "Neural Spline
/// Flows" (2019): K bins on [-B, B], the identity outside, continuous with
/// slope 1 at +-B. It is the site-wise map of a spline coupling: where an
/// affine coupling can only shift and stretch a site's conditional
/// distribution, the spline bends it (the one-site weight of phi^4 is quartic),
/// and its inverse and log-derivative are still exact and closed-form.
///
/// Per site it reads 3K - 1 raw numbers theta from the coupling's net:
/// K widths and K heights through a softmax (each bin at least `minimum` of
/// 2B) and K - 1 interior knot slopes through a softplus (at least `minimum`;
/// theta = 0 gives slope 1). With x in bin k, xi = (x - x_k)/w, s = h/w:
///
///   y = y_k + h (s xi^2 + d0 xi(1-xi)) / (s + (d0 + d1 - 2s) xi(1-xi)),
///
/// d0, d1 the slopes at the bin's knots. `evaluate` pairs with `pullback` as
/// a ChainRules rrule; the inverse's cotangents follow from the same two (see
/// `Flow.densityGradient`).
public struct RationalQuadraticSpline<T: Real & BinaryFloatingPoint> {
    /// Bins K.
    public let bins: Int
    /// Half-width B of the interval the spline acts on.
    public let bound: T
    /// Least bin width and height, as a fraction of 2B, and least knot slope.
    public static var minimum: T { T(1e-3) }
    /// softplus(0 + shift) + minimum = 1: zero raw slopes give slope 1.
    let slopeShift: T

    /// A spline with `bins` bins on [-bound, bound].
    public init(bins: Int, bound: T) {
        precondition(bins >= 2 && T(bins) * Self.minimum < 1 && bound > 0)
        self.bins = bins
        self.bound = bound
        slopeShift = T.log(T.exp(1 - Self.minimum) - 1)
    }

    /// Raw numbers per site: K widths, K heights, K - 1 slopes.
    public var parameterCount: Int { SplineCoupling(bins: bins, bound: Double(bound)).parametersPerSite }
    /// Scratch values `evaluate`, `inverse` and `pullback` need.
    public var scratchCount: Int { 4 * bins }

    /// What a site's bin and the spline's value there give the pullback.
    public struct Point {
        /// y, the log-derivative l = log dy/dx, dy/dx and dl/dx.
        public var y: T, logDerivative: T, derivative: T, logDerivativeSlope: T
        /// Bin index, or -1 outside [-B, B] (the identity).
        public internal(set) var bin: Int
        var xi: T, width: T, height: T, d0: T, d1: T
    }

    /// Softmax of `raw` (K values) mapped to sizes >= minimum * 2B summing to
    /// 2B, into `size`; the probabilities into `prob`.
    func sizes(_ raw: UnsafePointer<T>, prob: UnsafeMutablePointer<T>, size: UnsafeMutablePointer<T>) {
        var m = raw[0]
        for j in 1..<bins { m = Swift.max(m, raw[j]) }
        var total: T = 0
        for j in 0..<bins {
            prob[j] = T.exp(raw[j] - m)
            total += prob[j]
        }
        let inverseTotal = 1 / total
        let scale = 2 * bound * (1 - T(bins) * Self.minimum), floor = 2 * bound * Self.minimum
        for j in 0..<bins {
            prob[j] *= inverseTotal
            size[j] = floor + scale * prob[j]
        }
    }

    /// Slope at interior knot k (1 <= k <= K - 1); 1 at the ends.
    func slope(_ theta: UnsafePointer<T>, _ k: Int) -> T {
        guard k > 0 && k < bins else { return 1 }
        let z = theta[2 * bins + k - 1] + slopeShift
        return Self.minimum + Swift.max(z, 0) + T.log(1 + T.exp(-abs(z)))  // softplus without overflow
    }

    /// d slope / d theta at interior knot k: the logistic function.
    func slopeDerivative(_ theta: UnsafePointer<T>, _ k: Int) -> T {
        let z = theta[2 * bins + k - 1] + slopeShift
        return 1 / (1 + T.exp(-z))
    }

    /// The spline at x for one site's raw parameters `theta`. Scratch:
    /// `scratchCount` values, overwritten.
    public func evaluate(_ x: T, _ theta: UnsafePointer<T>, scratch: UnsafeMutablePointer<T>) -> Point {
        guard x > -bound && x < bound else {
            return Point(y: x, logDerivative: 0, derivative: 1, logDerivativeSlope: 0, bin: -1, xi: 0, width: 0, height: 0, d0: 1, d1: 1)
        }
        let K = bins
        let pw = scratch, ph = pw + K, w = ph + K, h = w + K
        sizes(theta, prob: pw, size: w)
        sizes(theta + K, prob: ph, size: h)
        let (k, xk, yk, width, height) = bin(of: x, byHeight: false, widths: w, heights: h)
        var p = Point(y: 0, logDerivative: 0, derivative: 0, logDerivativeSlope: 0, bin: k,
                      xi: Swift.min(Swift.max((x - xk) / width, 0), 1), width: width, height: height,
                      d0: slope(theta, k), d1: slope(theta, k + 1))
        let xi = p.xi, s = height / width, a = xi * (1 - xi), e = p.d1 + p.d0 - 2 * s
        let num = s * xi * xi + p.d0 * a
        let (derivative, q, den) = slopeAt(xi, s: s, d0: p.d0, d1: p.d1)
        p.y = yk + height * num / den
        p.derivative = derivative
        p.logDerivative = T.log(p.derivative)
        let dq = 2 * p.d1 * xi + 2 * s * (1 - 2 * xi) - 2 * p.d0 * (1 - xi)
        p.logDerivativeSlope = (dq / q - 2 * e * (1 - 2 * xi) / den) / width
        return p
    }

    /// The x with evaluate(x).y = y, and the forward map's log-derivative there.
    public func inverse(_ y: T, _ theta: UnsafePointer<T>, scratch: UnsafeMutablePointer<T>) -> (x: T, logDerivative: T) {
        guard y > -bound && y < bound else { return (y, 0) }
        let K = bins
        let pw = scratch, ph = pw + K, w = ph + K, h = w + K
        sizes(theta, prob: pw, size: w)
        sizes(theta + K, prob: ph, size: h)
        let (k, xk, yk, width, height) = bin(of: y, byHeight: true, widths: w, heights: h)
        let d0 = slope(theta, k), d1 = slope(theta, k + 1)
        let s = height / width, e = d1 + d0 - 2 * s, delta = y - yk
        // a xi^2 + b xi + c = 0 with c <= 0 and a + b = h s > 0: the root in
        // [0, 1], in whichever form does not cancel (a > 0 where b < 0).
        let a = height * (s - d0) + delta * e
        let b = height * d0 - delta * e
        let c = -s * delta
        let root = Swift.max(b * b - 4 * a * c, 0).squareRoot()
        let xi = Swift.min(Swift.max(b >= 0 ? 2 * c / (-b - root) : (-b + root) / (2 * a), 0), 1)
        return (xk + xi * width, T.log(slopeAt(xi, s: s, d0: d0, d1: d1).derivative))
    }

    /// The bin holding `value` (an x, or with `byHeight` a y): its index, its
    /// lower knot (x_k, y_k), width and height. Knots run from -B by
    /// cumulative sums and the last is B exactly, so a bin's width is the
    /// difference of its knots; forward and inverse find the same knots.
    func bin(of value: T, byHeight: Bool, widths w: UnsafePointer<T>, heights h: UnsafePointer<T>)
        -> (k: Int, xk: T, yk: T, width: T, height: T) {
        var k = 0, xk = -bound, yk = -bound
        while k < bins - 1 && value >= (byHeight ? yk + h[k] : xk + w[k]) {
            xk += w[k]
            yk += h[k]
            k += 1
        }
        return (k, xk, yk, k == bins - 1 ? bound - xk : w[k], k == bins - 1 ? bound - yk : h[k])
    }

    /// dy/dx at xi of a bin with s = h/w and knot slopes d0, d1, and the
    /// numerator factor q and the denominator den it is s^2 q / den^2 of.
    func slopeAt(_ xi: T, s: T, d0: T, d1: T) -> (derivative: T, q: T, den: T) {
        let a = xi * (1 - xi), e = d1 + d0 - 2 * s
        let den = s + e * a
        let q = d1 * xi * xi + 2 * s * a + d0 * (1 - xi) * (1 - xi)
        return (s * s * q / (den * den), q, den)
    }

    /// Values `store` keeps of a point for `pullback`: the 2K softmax
    /// probabilities `evaluate` left at the start of its scratch, and 8 numbers.
    public var cacheCount: Int { SplineCoupling(bins: bins, bound: Double(bound)).cachePerSite }

    /// Keeps `point` and the probabilities `evaluate` left in `scratch` in
    /// `slot` (`cacheCount` values), so that a pullback needs no second evaluation.
    public func store(_ point: Point, scratch: UnsafePointer<T>, into slot: UnsafeMutablePointer<T>) {
        slot.update(from: scratch, count: 2 * bins)
        let rest = slot + 2 * bins
        rest[0] = point.derivative
        rest[1] = point.logDerivativeSlope
        rest[2] = T(point.bin)
        rest[3] = point.xi
        rest[4] = point.width
        rest[5] = point.height
        rest[6] = point.d0
        rest[7] = point.d1
    }

    /// The point `store` kept in `slot` (y and the log-derivative are not kept);
    /// `slot` then serves as `pullback`'s scratch.
    public func load(_ slot: UnsafePointer<T>) -> Point {
        let rest = slot + 2 * bins
        return Point(y: 0, logDerivative: 0, derivative: rest[0], logDerivativeSlope: rest[1], bin: Int(rest[2]),
                     xi: rest[3], width: rest[4], height: rest[5], d0: rest[6], d1: rest[7])
    }

    /// The pullback of (y, l) = evaluate(x, theta) with cotangents gy, gl:
    /// adds dL/dtheta to `gTheta` (3K - 1 values). dL/dx is
    /// gy * derivative + gl * logDerivativeSlope of the point (not computed here).
    /// `point` is `evaluate`'s result with the same `scratch` unchanged since
    /// (only its first 2K values, the probabilities, are read), or `load`'s with its slot.
    public func pullback(_ point: Point, _ theta: UnsafePointer<T>, gy: T, gl: T, scratch: UnsafeMutablePointer<T>,
                         gTheta: UnsafeMutablePointer<T>) {
        let k = point.bin
        guard k >= 0 else { return }
        let K = bins
        let pw = scratch, ph = pw + K
        let xi = point.xi, w = point.width, h = point.height, d0 = point.d0, d1 = point.d1
        let s = h / w, a = xi * (1 - xi), e = d1 + d0 - 2 * s
        let den = s + e * a, num = s * xi * xi + d0 * a, r = num / den
        let q = d1 * xi * xi + 2 * s * a + d0 * (1 - xi) * (1 - xi)
        let den2 = den * den
        // Partials of R = num/den and of l = 2 log s + log q - 2 log den.
        let rXi = ((2 * s * xi + d0 * (1 - 2 * xi)) * den - num * e * (1 - 2 * xi)) / den2
        let rS = (xi * xi * den - num * (1 - 2 * a)) / den2
        let rD0 = a * (den - num) / den2
        let rD1 = -num * a / den2
        let lXi = (2 * d1 * xi + 2 * s * (1 - 2 * xi) - 2 * d0 * (1 - xi)) / q - 2 * e * (1 - 2 * xi) / den
        let lS = 2 / s + 2 * a / q - 2 * (1 - 2 * a) / den
        let lD0 = (1 - xi) * (1 - xi) / q - 2 * a / den
        let lD1 = xi * xi / q - 2 * a / den
        // y = y_k + h R(xi, s, d0, d1), xi = (x - x_k)/w, s = h/w.
        let gXi = gy * h * rXi + gl * lXi
        let gS = gy * h * rS + gl * lS
        let gD0 = gy * h * rD0 + gl * lD0
        let gD1 = gy * h * rD1 + gl * lD1
        let gXk = -gXi / w
        let gWidth = -gXi * xi / w - gS * s / w
        let gHeight = gy * r + gS / w
        let gYk = gy
        // Knot k is -B plus the sizes before it. Every bin's size enters the
        // softmax; the last knot pinned at B shifts all size cotangents of a
        // block alike, which the softmax's pullback ignores.
        let scale = 2 * bound * (1 - T(K) * Self.minimum)
        func sizesPullback(_ block: Int, _ prob: UnsafeMutablePointer<T>, gSize: T, gKnot: T) {
            // dL/dsize_j: gKnot for j < k, gSize for j = k, 0 after.
            var dot: T = 0
            for j in 0..<k { dot += prob[j] * gKnot }
            dot += prob[k] * gSize
            for j in 0..<K {
                let g: T = j < k ? gKnot : (j == k ? gSize : 0)
                gTheta[block + j] += scale * prob[j] * (g - dot)
            }
        }
        sizesPullback(0, pw, gSize: gWidth, gKnot: gXk)
        sizesPullback(K, ph, gSize: gHeight, gKnot: gYk)
        if k > 0 { gTheta[2 * K + k - 1] += gD0 * slopeDerivative(theta, k) }
        if k + 1 < K { gTheta[2 * K + k] += gD1 * slopeDerivative(theta, k + 1) }
    }
}
