import StackLab

/// Exercise 7: lb-02 and a floating address; killing lb-01 under load leaves at most 1 s without service.
struct KeepalivedScenario: Scenario {
    var checks: [Check] { [] }
    var unavailable: String? {
        "this exercise needs keepalived (a floating address moved between lb-01 and lb-02), which this build of stacklab "
            + "does not have yet; its task and hints are ready"
    }
}
