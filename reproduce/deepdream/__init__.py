"""deepdream"""
