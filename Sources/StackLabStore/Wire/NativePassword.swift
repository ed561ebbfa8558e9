/// mysql_native_password: token = SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))).
enum NativePassword {
    static func token(password: String, scramble: [UInt8]) -> [UInt8] {
        if password.isEmpty { return [] }
        let stage1 = SHA1.hash(Array(password.utf8))
        let stage2 = SHA1.hash(stage1)
        let mix = SHA1.hash(scramble + stage2)
        return zip(stage1, mix).map { $0 ^ $1 }
    }

    static func verify(token: [UInt8], password: String, scramble: [UInt8]) -> Bool {
        if password.isEmpty { return token.isEmpty }
        let expected = self.token(password: password, scramble: scramble)
        guard expected.count == token.count else { return false }
        var diff: UInt8 = 0
        for (a, b) in zip(expected, token) { diff |= a ^ b }
        return diff == 0
    }
}

/// SHA-1 (FIPS 180-4), only for the mysql_native_password scramble; the package has no crypto dependency.
enum SHA1 {
    static func hash(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var data = message
        let bitLength = UInt64(message.count) &* 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for i in (0..<8).reversed() { data.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: data.count, by: 64) {
            for i in 0..<16 {
                let j = chunk + i * 4
                w[i] = UInt32(data[j]) << 24 | UInt32(data[j + 1]) << 16 | UInt32(data[j + 2]) << 8 | UInt32(data[j + 3])
            }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w[i] = (x << 1) | (x >> 31)
            }
            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4]
            for i in 0..<80 {
                let f: UInt32, k: UInt32
                switch i {
                case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
                case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
                case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
                default: f = b ^ c ^ d; k = 0xCA62_C1D6
                }
                let t = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[i]
                e = d; d = c; c = (b << 30) | (b >> 2); b = a; a = t
            }
            h[0] = h[0] &+ a; h[1] = h[1] &+ b; h[2] = h[2] &+ c; h[3] = h[3] &+ d; h[4] = h[4] &+ e
        }
        return h.flatMap { v in (0..<4).reversed().map { UInt8(truncatingIfNeeded: v >> (UInt32($0) * 8)) } }
    }
}
