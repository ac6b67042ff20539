import CPAM
import Foundation
import Glibc
import Modbus

/// What checking a signer's password found.
public enum PasswordVerdict: Sendable, Equatable {
    case accepted
    /// Wrong password (or a user PAM does not know: not told apart, as login does not). Counts
    /// towards the lockout.
    case refused
    /// The password may be right but the account may not sign now (expired, locked, its password
    /// must be changed first): not a guess, so it does not count towards the lockout.
    case denied(String)
    /// PAM could not decide (its config, a module, the directory service).
    case unavailable(String)
}

/// Checks a user's password. Blocking: PAM modules read files, ask SSSD over a socket and sleep
/// after a failure (pam_unix: about 2 s), so callers run it on a thread of its own
/// (`PasswordCheckPool`), never on Swift's cooperative pool.
public protocol PasswordChecker: Sendable {
    func check(user: String, password: String) -> PasswordVerdict
}

/// Linux-PAM: `pam_authenticate` with a conversation that answers the password prompt, then
/// `pam_acct_mgmt` (an expired or locked account may not sign). The service's stack is
/// `/etc/pam.d/SERVICE` (labgate ships one that includes the host's common-auth and
/// common-account, so pam_unix or pam_sss answer as they do for a login).
public struct PAMPasswordChecker: PasswordChecker {
    public var service: String
    /// The folder the service's file is read from; nil for /etc/pam.d (tests name their own).
    public var confdir: String?

    public init(service: String = "labgate", confdir: String? = nil) {
        self.service = service
        self.confdir = confdir
    }

    /// The password is copied once into a buffer of our own, handed to the conversation and
    /// wiped (explicit_bzero) when PAM is done with it. What cannot be wiped: `password` itself
    /// and the copies Swift made on its way here (the request's JSON decoded into a String, the
    /// CLI's line read into one): a String's storage is immutable, may be shared and is freed
    /// without being cleared; callers drop them as soon as this returns. PAM's own copies (the
    /// conversation's answers, PAM_AUTHTOK) are overwritten by Linux-PAM before they are freed.
    public func check(user: String, password: String) -> PasswordVerdict {
        var secret = Array(password.utf8CString)
        defer { secret.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
        return secret.withUnsafeBufferPointer { secret in
            var conversation = lg_pam_conversation(secret.baseAddress)
            var handle: OpaquePointer?
            var status = pam_start_confdir(service, user, &conversation, confdir, &handle)
            guard status == PAM_SUCCESS, let handle else {
                return .unavailable("pam_start for service \(service) failed (\(status))")
            }
            defer { pam_end(handle, status) }
            status = pam_authenticate(handle, Int32(PAM_DISALLOW_NULL_AUTHTOK))
            switch status {
            case PAM_SUCCESS: break
            case PAM_AUTH_ERR, PAM_USER_UNKNOWN, PAM_MAXTRIES: return .refused
            default: return .unavailable(Self.describe(status, handle))
            }
            status = pam_acct_mgmt(handle, Int32(PAM_DISALLOW_NULL_AUTHTOK))
            switch status {
            case PAM_SUCCESS: return .accepted
            case PAM_NEW_AUTHTOK_REQD, PAM_ACCT_EXPIRED, PAM_AUTHTOK_EXPIRED, PAM_PERM_DENIED, PAM_AUTH_ERR,
                PAM_USER_UNKNOWN:
                return .denied(Self.describe(status, handle))
            default: return .unavailable(Self.describe(status, handle))
            }
        }
    }

    private static func describe(_ status: Int32, _ handle: OpaquePointer) -> String {
        pam_strerror(handle, status).map { String(cString: $0) } ?? "PAM error \(status)"
    }
}

/// The printed name of a user: the first field of its passwd entry's gecos (NSS: files, LDAP
/// through SSSD), or the user name when that is empty. Blocking like every NSS call.
public enum UserDirectory {
    public static func fullName(of user: String) -> String {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var size = 16 * 1024
        while size <= 16 * 1024 * 1024 {
            var buffer = [CChar](repeating: 0, count: size)
            var name: String?
            let status = buffer.withUnsafeMutableBufferPointer { buffer in
                let status = getpwnam_r(user, &entry, buffer.baseAddress!, buffer.count, &found)
                // Copied while the buffer holding it is alive.
                if status == 0, found != nil, let gecos = entry.pw_gecos { name = String(cString: gecos) }
                return status
            }
            if status == ERANGE {
                size *= 2
                continue
            }
            let first = name?.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).first
                .map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return first.isEmpty ? user : first
        }
        return user
    }
}
