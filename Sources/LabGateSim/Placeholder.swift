import LabGate
