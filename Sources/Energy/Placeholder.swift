// Power policies and wake drivers (pure, clock injected) arrive with the energy-saving work.
