import Foundation
import Synchronization
import Testing
import TestSupport
@testable import LabGate

/// A PAM service whose auth stack runs `script` (pam_exec) and then accepts (pam_permit): a PAM
/// stack as slow as the script makes it, for the user it chooses.
private func slowPAMFolder(_ folder: TemporaryFolder, script: String) throws -> String {
    let path = folder.path + "/pam.d"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let scriptPath = folder.path + "/slow-pam.sh"
    try ("#!/bin/sh\n" + script + "\nexit 0\n").write(toFile: scriptPath, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scriptPath)
    try """
        auth required pam_exec.so quiet \(scriptPath)
        auth required pam_permit.so
        account required pam_permit.so

        """.write(toFile: path + "/labgate", atomically: true, encoding: .utf8)
    return path
}

@Suite("password checks run a few at once", .serialized)
struct PasswordCheckPoolTests {
    @Test("while one signer's PAM stack hangs (a directory server that does not answer), another signer's password is checked at once; the first is answered when its stack returns")
    func slowSignerDoesNotHoldOthers() async throws {
        let folder = try TemporaryFolder()
        let started = folder.path + "/slow-started", release = folder.path + "/release"
        // slow-signer's stack waits for the test to release it (60 s at most).
        let confdir = try slowPAMFolder(folder, script: """
            if [ "$PAM_USER" = slow-signer ]; then
                touch \(started)
                i=0; while [ ! -e \(release) ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
            fi
            """)
        let store = try ReadingStore(path: folder.path + "/store.sqlite")
        let signer = Signer(store: store, checker: PAMPasswordChecker(confdir: confdir))
        let slowDone = Mutex(false)
        let slow = Task {
            defer { slowDone.withLock { $0 = true } }
            return try await signer.authenticate(user: "slow-signer", password: "s", for: .ack, on: .deviation("DEV-2026-0001"))
        }
        try await eventually("slow-signer's PAM stack running", timeout: .seconds(30)) { FileManager.default.fileExists(atPath: started) }
        let fast = try await withThrowingTaskGroup(of: SignatureGrant?.self) { group in
            group.addTask { try await signer.authenticate(user: "fast-signer", password: "f", for: .ack, on: .deviation("DEV-2026-0002")) }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(fast?.user == "fast-signer", "fast-signer waited for slow-signer's PAM stack")
        #expect(!slowDone.withLock { $0 }, "slow-signer was still being checked")
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        #expect(try await slow.value.user == "slow-signer")
    }
}
