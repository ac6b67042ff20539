/// A small seedable random number generator (SplitMix64), so that a seeded simulation replays
/// exactly: same seed, same steps, same values.
public struct SimRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// A generator seeded from the system's random source.
    public init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform noise in `-amplitude...amplitude`.
    public mutating func noise(_ amplitude: Double) -> Double {
        guard amplitude > 0 else { return 0 }
        return Double.random(in: -amplitude...amplitude, using: &self)
    }
}
