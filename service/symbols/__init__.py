"""The symbol bank: the shipped reference drawings and the emblems an operator adds."""
